"""The e-map (电子地图): floor plans a technician uploads and where each button and camera sits on them."""
