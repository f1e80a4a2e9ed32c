"""Import every command module so its commands register on the app.

One line per command group: adding a feature means adding its module here.
"""

from . import (  # noqa: F401
    _access,
    _assembly,
    _bids,
    _browse,
    _hcp,
    _mirror,
    _serve,
    _sync,
)
