"""The daily inspection report: figures from the store (daily), rendered as HTML and CSV."""
