"""Started in every Python process of the test suite (this folder is on PYTHONPATH): block the network."""
import xai_offline_guard  # noqa: F401
