"""Import every command module so its commands register on the app.

One name per command group: adding a feature means adding its module here. The order is the
order ``brainbucket --help`` lists them in — the everyday commands first.
"""

from importlib import import_module

_GROUPS = ("_browse", "_serve", "_sync", "_bids", "_mirror", "_hcp", "_assembly", "_access")

for _name in _GROUPS:
    import_module(f"{__package__}.{_name}")
