"""Device drivers: one module per device family, each turning the outside world into Events."""
