"""The Qt side of Switchboard: the only package that imports both the engine and Qt."""

__all__: list[str] = []
