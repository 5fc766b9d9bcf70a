"""Media-path cores: answering-machine detection, beep detection, prompts."""
