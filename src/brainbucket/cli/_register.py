"""Import every command module so its commands register on the app.

One line per command group: adding a feature means adding its module here.
"""

from . import _browse, _serve  # noqa: F401
