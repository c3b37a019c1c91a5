"""What the emotion service image ships of training/emotion/: face analysis, the expression model, session reports and their page. Its bentofile includes this
subpackage whole; nothing here imports the training stack."""
