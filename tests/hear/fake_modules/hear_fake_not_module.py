"""Broken: load_model returns something that is not a torch.nn.Module (a TF-like object)."""


class Module:  # stands in for tf.Module
    __module__ = "tensorflow.python.module.module"
    sample_rate = 16000


def load_model(model_file_path: str = "", **options: object):
    return Module()
