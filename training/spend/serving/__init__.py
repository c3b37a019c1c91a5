"""What the spend service image ships of training/spend/: the hurdle model and its features, and the nudge effect. Its bentofile includes this
subpackage whole; nothing here imports the training stack."""
