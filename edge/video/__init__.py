"""Video: frame grabbing (OpenCV/HTTP) and image-quality diagnosis for cameras."""
