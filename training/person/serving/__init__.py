"""What the person service image ships of training/person/: the ONNX person detector, attention and a recording's audience. Its bentofile includes this
subpackage whole; nothing here imports the training stack."""
