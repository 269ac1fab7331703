import sys

from edge.camworker.child import main

sys.exit(main())
