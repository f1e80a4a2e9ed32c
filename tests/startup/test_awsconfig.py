"""Region, endpoint and keys read without boto3 agree with boto3, or defer to it.

Every case is checked against boto3 itself on the same files and environment: the fast path
must give exactly boto3's answer, or step aside (``NeedsBoto``) and let boto3 answer.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from brainbucket import CredentialsError, NoCredentialsError
from brainbucket.store import S3Store, open_store
from brainbucket.store._awsconfig import AwsConfig, NeedsBoto, StaticCredentials
from brainbucket.store._session import Session
from brainbucket.store._settings import S3Settings

from .conftest import AwsFiles

KEYS = "aws_access_key_id = {a}\naws_secret_access_key = {s}\n"
ENV_KEYS = {"AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret"}


def _boto(profile: str | None) -> tuple[tuple[str, str, str | None, str] | None, str | None]:
    session = boto3.session.Session(profile_name=profile)
    creds = session.get_credentials()
    if creds is None:
        return None, session.region_name
    frozen = creds.get_frozen_credentials()
    return (frozen.access_key, frozen.secret_key, frozen.token, creds.method), session.region_name


def _fast(profile: str | None) -> tuple[tuple[str, str, str | None, str], str | None]:
    cfg = AwsConfig(profile)
    c = cfg.credentials()
    return (c.access_key, c.secret_key, c.token, c.method), cfg.region()


# (config file, credentials file, environment, --profile, expected method or None = boto3's)
CASES: dict[str, tuple[str, str, dict[str, str], str | None, str | None]] = {
    "env keys": ("", "", {**ENV_KEYS, "AWS_DEFAULT_REGION": "eu-west-1"}, None, "env"),
    "env keys with session token": (
        "",
        "",
        {**ENV_KEYS, "AWS_SESSION_TOKEN": "tok"},
        None,
        "env",
    ),
    "env beats AWS_PROFILE": (
        "",
        "[lab]\n" + KEYS.format(a="FILEKEY", s="filesecret"),
        {**ENV_KEYS, "AWS_PROFILE": "lab"},
        None,
        "env",
    ),
    "--profile beats env": (
        "",
        "[lab]\n" + KEYS.format(a="FILEKEY", s="filesecret"),
        ENV_KEYS,
        "lab",
        "shared-credentials-file",
    ),
    "default profile in the credentials file": (
        "[default]\nregion = ap-south-1\n",
        "[default]\n" + KEYS.format(a="DEFKEY", s="defsecret") + "aws_session_token = t\n",
        {},
        None,
        "shared-credentials-file",
    ),
    "AWS_PROFILE from the credentials file, region there too": (
        "",
        "[lab]\n" + KEYS.format(a="FILEKEY", s="filesecret") + "region = sa-east-1\n",
        {"AWS_PROFILE": "lab"},
        None,
        "shared-credentials-file",
    ),
    "AWS_DEFAULT_PROFILE wins over AWS_PROFILE": (
        "",
        "[a]\n" + KEYS.format(a="AKEY", s="as") + "[b]\n" + KEYS.format(a="BKEY", s="bs"),
        {"AWS_DEFAULT_PROFILE": "a", "AWS_PROFILE": "b"},
        None,
        "shared-credentials-file",
    ),
    "credentials file beats config file": (
        "[profile lab]\n" + KEYS.format(a="CFGKEY", s="cfgsecret"),
        "[lab]\n" + KEYS.format(a="FILEKEY", s="filesecret"),
        {},
        "lab",
        "shared-credentials-file",
    ),
    "config-file keys": (
        "[profile lab]\nregion = eu-north-1\n" + KEYS.format(a="CFGKEY", s="cfgsecret"),
        "",
        {},
        "lab",
        "config-file",
    ),
    "config-file [default]": (
        "[default]\n" + KEYS.format(a="CFGKEY", s="cfgsecret"),
        "[other]\n" + KEYS.format(a="X", s="y"),
        {},
        None,
        "config-file",
    ),
    "config-file [profile default]": (
        "[profile default]\n" + KEYS.format(a="CFGKEY", s="cfgsecret"),
        "",
        {},
        None,
        "config-file",
    ),
    "keys beat a credential process in the credentials file's profile": (
        "[profile lab]\ncredential_process = /bin/false\n",
        "[lab]\n" + KEYS.format(a="FILEKEY", s="filesecret"),
        {},
        "lab",
        "shared-credentials-file",
    ),
    "region env beats the file": (
        "[default]\nregion = eu-west-3\n",
        "[default]\n" + KEYS.format(a="K", s="s"),
        {"AWS_DEFAULT_REGION": "us-west-2"},
        None,
        "shared-credentials-file",
    ),
    "role_arn profile": (
        "[profile src]\n"
        + KEYS.format(a="SRCKEY", s="srcsecret")
        + "[profile lab]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = src\n",
        "",
        {},
        "lab",
        None,
    ),
    "sso profile": (
        "[profile lab]\nsso_start_url = https://example.invalid/start\nsso_region = us-east-1\n"
        "sso_account_id = 123456789012\nsso_role_name = r\n",
        "",
        {},
        "lab",
        None,
    ),
    "credential process only": (
        "[profile lab]\ncredential_process = /bin/false\n",
        "",
        {},
        "lab",
        None,
    ),
    "access key without secret": ("", "[default]\naws_access_key_id = K\n", {}, None, None),
    "env key without secret": ("", "", {"AWS_ACCESS_KEY_ID": "K"}, None, None),
    "expiring env keys": (
        "",
        "",
        {**ENV_KEYS, "AWS_CREDENTIAL_EXPIRATION": "2999-01-01T00:00:00Z"},
        None,
        None,
    ),
    "nothing at all": ("", "", {}, None, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_credentials_and_region_agree_with_boto3(case: str, aws_files: AwsFiles) -> None:
    config, credentials, env, profile, method = CASES[case]
    aws_files(config, credentials, **env)
    if method is None:
        with pytest.raises(NeedsBoto):
            AwsConfig(profile).credentials()
        return
    fast, region = _fast(profile)
    assert fast[3] == method
    assert (fast, region) == _boto(profile)


def test_nothing_found_is_no_credentials(aws_files: AwsFiles) -> None:
    aws_files()
    store = open_store("s3://bucket", endpoint_url="http://127.0.0.1:9")
    assert isinstance(store, S3Store)
    with pytest.raises(NoCredentialsError):
        store.session.obstore_kwargs("bucket")


@pytest.mark.parametrize("how", ["--profile", "AWS_PROFILE"])
def test_missing_profile_is_the_same_clear_error(how: str, aws_files: AwsFiles) -> None:
    if how == "--profile":
        aws_files("[profile lab]\nregion = eu-west-1\n", **ENV_KEYS)
        settings = S3Settings(profile="nope", endpoint_url="http://127.0.0.1:9")
    else:
        aws_files("[profile lab]\nregion = eu-west-1\n", AWS_PROFILE="nope", **ENV_KEYS)
        settings = S3Settings(endpoint_url="http://127.0.0.1:9")
    with pytest.raises(CredentialsError, match="AWS profile 'nope' not found") as fast:
        Session(settings).obstore_kwargs("b")
    assert fast.value.hint == "create it with `aws configure --profile nope`"
    with pytest.raises(CredentialsError, match="AWS profile 'nope' not found") as slow:
        _ = Session(settings).boto  # the boto3 path says the same
    assert slow.value.hint == fast.value.hint
    assert not isinstance(fast.value, NoCredentialsError)


def test_default_profile_may_be_absent(aws_files: AwsFiles) -> None:
    aws_files("[profile lab]\nregion = eu-west-1\n", **ENV_KEYS)
    assert AwsConfig(None).credentials().method == "env"
    with pytest.raises(CredentialsError):
        AwsConfig("default")  # named explicitly, it must exist, as in boto3


ENDPOINT_CASES: dict[str, tuple[str, dict[str, str], str | None]] = {
    "profile endpoint_url": (
        "[default]\nendpoint_url = http://127.0.0.1:9000\n",
        {},
        "http://127.0.0.1:9000",
    ),
    "services section": (
        "[default]\nservices = local\nendpoint_url = http://127.0.0.1:1\n"
        "[services local]\ns3 =\n  endpoint_url = http://127.0.0.1:9001\n",
        {},
        "http://127.0.0.1:9001",
    ),
    "services section without s3": (
        "[default]\nservices = local\nendpoint_url = http://127.0.0.1:1\n"
        "[services local]\nsts =\n  endpoint_url = http://127.0.0.1:9001\n",
        {},
        "http://127.0.0.1:1",
    ),
    "AWS_ENDPOINT_URL beats the file": (
        "[default]\nendpoint_url = http://127.0.0.1:9000\n",
        {"AWS_ENDPOINT_URL": "http://127.0.0.1:9002"},
        "http://127.0.0.1:9002",
    ),
    "AWS_ENDPOINT_URL_S3 beats AWS_ENDPOINT_URL": (
        "",
        {"AWS_ENDPOINT_URL": "http://127.0.0.1:9002", "AWS_ENDPOINT_URL_S3": "http://h:9003/"},
        "http://h:9003/",
    ),
    "AWS us-east-1": ("", {}, "https://s3.amazonaws.com"),
    "AWS eu-west-1": ("[default]\nregion = eu-west-1\n", {}, "https://s3.eu-west-1.amazonaws.com"),
    "AWS China": ("", {"AWS_DEFAULT_REGION": "cn-north-1"}, None),
    "FIPS": ("", {"AWS_USE_FIPS_ENDPOINT": "true"}, None),
    "configured endpoints ignored": (
        "[default]\nendpoint_url = http://127.0.0.1:9000\n",
        {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
        None,
    ),
    "missing services section": ("[default]\nservices = gone\n", {}, None),
}


@pytest.mark.parametrize("case", list(ENDPOINT_CASES))
def test_endpoint_agrees_with_boto3(case: str, aws_files: AwsFiles) -> None:
    config, env, expected = ENDPOINT_CASES[case]
    aws_files(config, **ENV_KEYS, **env)
    session = Session(S3Settings())
    aws = AwsConfig(None)
    if expected is None:
        with pytest.raises(NeedsBoto):
            aws.endpoint(session.region)
        return
    assert aws.endpoint(session.region) == expected
    try:
        assert session.client.meta.endpoint_url == expected  # what the boto3 client resolves
        assert session.endpoint == expected  # and what every request of brainbucket uses
    finally:
        session.client.close()


def test_obstore_settings_without_boto3(aws_files: AwsFiles) -> None:
    aws_files(
        "[profile lab]\nregion = eu-west-2\nendpoint_url = http://127.0.0.1:9000\n",
        "[lab]\n" + KEYS.format(a="LABKEY", s="labsecret"),
    )
    kwargs: dict[str, Any] = Session(S3Settings(profile="lab")).obstore_kwargs("b")
    assert kwargs["endpoint"] == "http://127.0.0.1:9000"
    assert kwargs["region"] == "eu-west-2"
    assert kwargs["virtual_hosted_style_request"] is False
    assert kwargs["client_options"]["allow_http"] is True
    provider = kwargs["credential_provider"]
    assert isinstance(provider, StaticCredentials)
    assert provider()["access_key_id"] == "LABKEY"
    assert provider()["expires_at"] is None
    assert "labsecret" not in repr(provider)
    assert "labsecret" not in repr(kwargs)


def test_role_profile_falls_back_to_refreshing_boto3_credentials(aws_files: AwsFiles) -> None:
    from obstore.auth.boto3 import Boto3CredentialProvider

    config, credentials, env, profile, _ = CASES["role_arn profile"]
    aws_files(config + "endpoint_url = http://127.0.0.1:9000\n", credentials, **env)
    session = Session(S3Settings(profile=profile))
    assert session.static_credentials() is None
    kwargs = session.obstore_kwargs("b")
    assert isinstance(kwargs["credential_provider"], Boto3CredentialProvider)
    assert kwargs["endpoint"] == "http://127.0.0.1:9000"
    assert session.credential_source() == "assume-role"


def test_unreadable_config_defers_to_boto3(aws_files: AwsFiles) -> None:
    aws_files("[default\nregion = eu-west-1\n", **ENV_KEYS)
    with pytest.raises(NeedsBoto):
        AwsConfig(None)
    assert Session(S3Settings())._aws_config() is None


def test_nested_blocks_parse_like_botocore(aws_files: AwsFiles) -> None:
    import botocore.configloader

    from brainbucket.store._awsconfig import profile_map, raw_parse

    text = (
        "[default]\nregion = eu-west-1\ns3 =\n  addressing_style = path\n  max_concurrency = 4\n"
        '[profile "two words"]\nregion = x\n[profile a b c]\nregion = y\n[profile]\nz = 1\n'
        "[services s]\ns3 =\n  endpoint_url = http://h\n[preview]\nq = 1\n"
    )
    env = aws_files(text)
    path = env["AWS_CONFIG_FILE"]
    assert raw_parse(path) == botocore.configloader.raw_config_parse(path)
    mine = profile_map(raw_parse(path) or {})
    theirs = botocore.configloader.load_config(path)
    assert mine["profiles"] == theirs["profiles"]
    assert mine["services"] == theirs["services"]
    assert raw_parse(env["AWS_CONFIG_FILE"] + ".missing") is None


ORIGIN_CASES: dict[str, str] = {
    "profile endpoint_url": "profile default's endpoint_url",
    "services section": "profile default's services section local",
    "services section without s3": "profile default's endpoint_url",
    "AWS_ENDPOINT_URL beats the file": "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3 beats AWS_ENDPOINT_URL": "AWS_ENDPOINT_URL_S3",
    "AWS us-east-1": "AWS",
    "AWS eu-west-1": "AWS",
}


@pytest.mark.parametrize("case", list(ENDPOINT_CASES))
def test_endpoint_origin_names_the_setting_without_boto3(case: str, aws_files: AwsFiles) -> None:
    from brainbucket.store import endpoint_origin

    config, env, expected = ENDPOINT_CASES[case]
    aws_files(config, **ENV_KEYS, **env)
    origin = endpoint_origin(S3Settings())
    if expected is None:
        assert origin is None  # only boto3 could tell; nobody asks it just to say so
        return
    assert origin is not None
    assert (origin.url, origin.source) == (expected, ORIGIN_CASES[case])
    assert origin.is_aws == (origin.source == "AWS")
    explicit = endpoint_origin(S3Settings.from_options(endpoint_url="http://h:1", environ={}))
    assert explicit is not None
    assert (explicit.url, explicit.source) == ("http://h:1", "settings")
    from_env = S3Settings.from_options(environ={"BRAINBUCKET_ENDPOINT_URL": "http://h:2"})
    assert endpoint_origin(from_env) == type(origin)("http://h:2", "BRAINBUCKET_ENDPOINT_URL")
