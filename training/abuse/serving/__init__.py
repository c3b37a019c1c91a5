"""What the abuse service image ships of training/abuse/: the event simulator's vocabulary, features, the online feature store and the ONNX scorer. Its bentofile includes this
subpackage whole; nothing here imports the training stack."""
