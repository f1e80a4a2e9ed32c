"""Endpoint, region and static credentials from the environment and AWS files, without boto3.

Importing boto3 and building its S3 client costs ~0.6 s of a command's start-up, more than a
whole no-op sync needs. Most set-ups need none of it to find where and as whom to connect:
the keys sit in environment variables or, as ``aws configure`` writes them, in a profile of
``~/.aws/credentials`` or ``~/.aws/config``. This module reads those exactly as botocore does
(same files, same INI parsing, same precedence) and answers only when the answer is certain.
Everything else — roles, SSO, web identity, credential processes, instance metadata, FIPS or
dual-stack endpoints, unreadable files — raises :class:`NeedsBoto`, and the caller asks boto3,
which then behaves exactly as it always did.
"""

from __future__ import annotations

import copy
import os
import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .._exceptions import CredentialsError

__all__ = ["AwsConfig", "NeedsBoto", "StaticCredentials", "profile_not_found"]

# Regions of the main AWS partition, whose S3 endpoint follows one pattern.
_AWS_REGION_RE = re.compile(r"^(us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d+$")

# Profile settings that hand credentials to a provider boto3 runs before the credentials
# file (assume-role, web identity, SSO) or before the config file's keys (login, process).
_BEFORE_FILE_KEYS = ("role_arn", "web_identity_token_file")
_BEFORE_CONFIG_KEYS = ("login_session", "credential_process")


class NeedsBoto(Exception):
    """The answer depends on machinery only boto3 has; ask boto3."""


@dataclass(frozen=True)
class StaticCredentials:
    """Keys that never change, and where they were found (boto3's method names).

    Calling it gives the data path its credentials (never expiring), so the secret travels
    without a trip through boto3. Neither the secret nor the token appears in the repr.

    Examples
    --------
    >>> creds = StaticCredentials("AKID", "secret", None, "env")
    >>> creds()["access_key_id"], "secret" in repr(creds)
    ('AKID', False)
    """

    access_key: str
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    method: str = "env"

    def __call__(self) -> dict[str, Any]:
        expires_at: datetime | None = None
        return {
            "access_key_id": self.access_key,
            "secret_access_key": self.secret_key,
            "token": self.token,
            "expires_at": expires_at,
        }


def profile_not_found(name: str | None) -> CredentialsError:
    """The one error for a profile no AWS file defines."""
    msg = f"AWS profile {name!r} not found"
    return CredentialsError(msg, hint=f"create it with `aws configure --profile {name}`")


def _parse_nested(value: str) -> dict[str, str]:
    parsed = {}
    for line in value.splitlines():
        line = line.strip()
        if line:
            key, val = line.split("=", 1)  # no "=": ValueError, as botocore
            parsed[key.strip()] = val.strip()
    return parsed


def raw_parse(filename: str) -> dict[str, dict[str, Any]] | None:
    """An AWS INI file as ``{section: {option: value}}``; ``None`` if there is no such file.

    Indented blocks under an empty value (``s3 =`` then ``  endpoint_url = ...``) become
    nested dicts, as botocore reads them.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "config"
    >>> _ = p.write_text("[default]\\nregion = eu-west-1\\ns3 =\\n  addressing_style = path\\n")
    >>> raw_parse(str(p))
    {'default': {'region': 'eu-west-1', 's3': {'addressing_style': 'path'}}}
    """
    path = os.path.expanduser(os.path.expandvars(filename))
    if not os.path.isfile(path):
        return None
    import configparser  # only when there is a file to read

    cp = configparser.RawConfigParser()
    try:
        cp.read([path])
        out: dict[str, dict[str, Any]] = {}
        for section in cp.sections():
            values: dict[str, Any] = {}
            for option in cp.options(section):
                value = cp.get(section, option)
                values[option] = _parse_nested(value) if value.startswith("\n") else value
            out[section] = values
    except (configparser.Error, UnicodeDecodeError, ValueError, OSError) as exc:
        raise NeedsBoto(str(exc)) from None  # boto3 words the parse error
    return out


def _section(key: str) -> str | None:
    try:
        parts = shlex.split(key)
    except ValueError:
        return None
    return parts[1] if len(parts) == 2 else None


def profile_map(parsed: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{"profiles": ..., "services": ...}`` from a parsed config file, as botocore maps it.

    Examples
    --------
    >>> profile_map({"default": {"region": "a"}, "profile lab": {"region": "b"}})["profiles"]
    {'default': {'region': 'a'}, 'lab': {'region': 'b'}}
    """
    profiles: dict[str, Any] = {}
    services: dict[str, Any] = {}
    for key, values in copy.deepcopy(parsed).items():
        if key.startswith("profile"):
            name = _section(key)
            if name is not None:
                profiles[name] = values
        elif key.startswith("services"):
            name = _section(key)
            if name is not None:
                services[name] = values
        elif key == "default":
            profiles[key] = values
    return {"profiles": profiles, "services": services}


class AwsConfig:
    """What the environment and the AWS files say, for one profile (``None``: the default).

    Parameters
    ----------
    profile
        An explicitly chosen profile (``--profile``). As in boto3, choosing one makes the
        ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` variables be ignored.
    environ
        The environment (defaults to ``os.environ``).

    Examples
    --------
    >>> cfg = AwsConfig(None, {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s",
    ...                        "AWS_CONFIG_FILE": "/nonexistent", "AWS_DEFAULT_REGION": "eu-west-1",
    ...                        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"})
    >>> cfg.credentials().method, cfg.region()
    ('env', 'eu-west-1')
    """

    def __init__(self, profile: str | None, environ: Any = None) -> None:
        self.env = os.environ if environ is None else environ
        self.explicit = profile is not None
        if profile is None:
            for var in ("AWS_DEFAULT_PROFILE", "AWS_PROFILE"):
                if var in self.env:
                    profile = self.env[var]
                    break
        if profile == "":
            raise NeedsBoto  # empty profile name
        self.profile = profile
        config = raw_parse(self.env.get("AWS_CONFIG_FILE", "~/.aws/config"))
        self.creds_file = raw_parse(
            self.env.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")
        )
        self.config = profile_map(config or {})
        # boto3's view of every profile: the config file's, updated by the credentials file's.
        merged = copy.deepcopy(self.config["profiles"])
        for name, values in (self.creds_file or {}).items():
            merged.setdefault(name, {}).update(values)
        self.profiles = merged
        if profile is None:
            self.scoped: dict[str, Any] = merged.get("default", {})
        elif profile not in merged:
            raise profile_not_found(profile)
        else:
            self.scoped = merged[profile]

    def _var(self, env_var: str, key: str) -> Any:
        if env_var in self.env:
            return self.env[env_var]
        return self.scoped.get(key)

    def region(self) -> str | None:
        """The profile's region (``AWS_DEFAULT_REGION``, else the files), or ``None``."""
        value = self._var("AWS_DEFAULT_REGION", "region")
        return value if isinstance(value, str) and value else None

    def endpoint(self, region: str) -> str:
        """The S3 endpoint boto3 would use when none is given explicitly."""
        return self.endpoint_source(region)[0]

    def endpoint_source(self, region: str) -> tuple[str, str]:
        """:meth:`endpoint`, and the setting it comes from: an environment variable's name,
        ``profile NAME's services section S``, ``profile NAME's endpoint_url``, or ``AWS``.

        Examples
        --------
        >>> cfg = AwsConfig(None, {"AWS_CONFIG_FILE": "/nonexistent",
        ...                        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        ...                        "AWS_ENDPOINT_URL": "http://127.0.0.1:9000"})
        >>> cfg.endpoint_source("us-east-1")
        ('http://127.0.0.1:9000', 'AWS_ENDPOINT_URL')
        """
        if (
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" in self.env
            or "ignore_configured_endpoint_urls" in self.scoped
        ):
            raise NeedsBoto  # configured endpoints ignored
        for var in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
            if self.env.get(var):
                return str(self.env[var]), var
        profile = f"profile {self.profile or 'default'}'s"
        if "services" in self.scoped:
            section = self.config["services"].get(self.scoped["services"])
            s3 = (section or {}).get("s3", {})
            if not section or not isinstance(s3, dict):
                raise NeedsBoto  # services section missing or malformed
            if s3.get("endpoint_url"):
                where = f"{profile} services section {self.scoped['services']}"
                return str(s3["endpoint_url"]), where
        configured = self.scoped.get("endpoint_url")
        if isinstance(configured, str) and configured:
            return configured, f"{profile} endpoint_url"
        # AWS itself. FIPS, dual-stack, accelerated or other partitions: boto3 knows best.
        if (
            any(k.startswith(("AWS_USE_", "AWS_S3_")) for k in self.env)
            or any(k in self.scoped for k in ("use_fips_endpoint", "use_dualstack_endpoint", "s3"))
            or not _AWS_REGION_RE.match(region)
        ):
            raise NeedsBoto  # special AWS endpoint
        if region == "us-east-1":
            return "https://s3.amazonaws.com", "AWS"
        return f"https://s3.{region}.amazonaws.com", "AWS"

    def credentials(self) -> StaticCredentials:
        """Static keys, found where boto3's chain would find them first.

        Raises :class:`NeedsBoto` when any provider that boto3 consults before the static
        keys could apply, or when no static keys exist (boto3 then goes on to instance
        metadata and the like).
        """
        if not self.explicit and self.env.get("AWS_ACCESS_KEY_ID"):
            secret = self.env.get("AWS_SECRET_ACCESS_KEY", "")
            if not secret or self.env.get("AWS_CREDENTIAL_EXPIRATION"):
                raise NeedsBoto  # partial or expiring environment credentials
            token = self.env.get("AWS_SECURITY_TOKEN") or self.env.get("AWS_SESSION_TOKEN")
            return StaticCredentials(self.env["AWS_ACCESS_KEY_ID"], secret, token or None, "env")
        name = self.profile or "default"
        merged = self.profiles.get(name, {})
        if (
            any(k in merged for k in _BEFORE_FILE_KEYS)
            or any(k.startswith("sso_") for k in merged)
            or "AWS_WEB_IDENTITY_TOKEN_FILE" in self.env
        ):
            raise NeedsBoto  # role, web identity or SSO profile
        found = self._keys((self.creds_file or {}).get(name), "shared-credentials-file")
        if found is not None:
            return found
        if any(k in merged for k in _BEFORE_CONFIG_KEYS):
            raise NeedsBoto  # login or credential process profile
        found = self._keys(self.config["profiles"].get(name), "config-file")
        if found is not None:
            return found
        raise NeedsBoto  # no static credentials

    @staticmethod
    def _keys(section: dict[str, Any] | None, method: str) -> StaticCredentials | None:
        if not section or "aws_access_key_id" not in section:
            return None
        access, secret = section["aws_access_key_id"], section.get("aws_secret_access_key")
        if not isinstance(access, str) or not isinstance(secret, str) or not access or not secret:
            raise NeedsBoto  # partial credentials in a file
        token = None
        for key in ("aws_security_token", "aws_session_token"):
            if key in section:
                token = section[key]
                break
        return StaticCredentials(
            access, secret, token if isinstance(token, str) and token else None, method
        )
