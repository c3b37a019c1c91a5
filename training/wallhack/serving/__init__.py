"""What the wallhack service image ships of training/wallhack/: preprocessing, the ONNX classifier and its heat maps. Its bentofile includes this
subpackage whole; nothing here imports the training stack."""
