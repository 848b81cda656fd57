"""A host's address, and the ssh command line made from it (no ssh is run here)."""

from __future__ import annotations

import shlex

import pytest

from synthetic_ls.errors import InvalidInputError
from synthetic_ls.remote.host_url import HostUrl, check_name, parse_url
from synthetic_ls.remote.ssh import remote_command, ssh_argv, ssh_error


@pytest.mark.parametrize(("text", "wanted"), [
    ("ssh://box/srv/app", HostUrl("box", "/srv/app")),
    ("ssh://me@Box-1.lan:2222/srv/app/", HostUrl("Box-1.lan", "/srv/app", "me", 2222)),
    ("ssh://10.0.0.7/home/me/src/a_b.c", HostUrl("10.0.0.7", "/home/me/src/a_b.c")),
    ("ssh://my_alias/~me/src", HostUrl("my_alias", "/~me/src")),
])
def test_good_addresses_parse(text: str, wanted: HostUrl) -> None:
    assert parse_url(text) == wanted
    assert parse_url(str(wanted)) == wanted  # what is stored reads back the same


@pytest.mark.parametrize("text", [
    "box:/srv/app", "ssh:///srv/app", "ssh://box", "ssh://box/a b", "ssh://box/a\nb",
    "ssh://-oProxyCommand=id/srv", "ssh://box/$(id)", "ssh://box/a;b", "ssh://box/a|b",
    "ssh://box/a'b", "ssh://box/a\"b", "ssh://box/..", "ssh://box/a/../b", "ssh://u:p@box/a",
    "ssh://-u@box/a", "ssh://box:0/a", "ssh://box:x/a", "ssh://[::1]/a",
])
def test_bad_addresses_are_refused(text: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_url(text)
    assert caught.value.fields == {"key": "url"}


@pytest.mark.parametrize("name", ["", "A", "-x", "a b", "a_b", "é", "x" * 33])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInputError):
        check_name(name)


def test_the_ssh_command_line_never_prompts_is_bounded_and_quotes_the_remote_command() -> None:
    url = parse_url("ssh://me@box:2222/srv/app")
    command = remote_command("git", "-C", "/srv/it's here; rm -rf ~", "status")
    argv = ssh_argv(url, command)
    assert argv[:5] == ["ssh", "-o", "BatchMode=yes", "-o", argv[4]]
    assert argv[4].startswith("ConnectTimeout=")
    assert argv[5:] == ["-p", "2222", "--", "me@box", command]
    assert shlex.split(command) == ["git", "-C", "/srv/it's here; rm -rf ~", "status"]
    assert ssh_argv(parse_url("ssh://box/a"), "true") == [
        "ssh", "-o", "BatchMode=yes", "-o", argv[4], "--", "box", "true"]


@pytest.mark.parametrize(("stderr", "code"), [
    ("@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@@\n"
     "Host key verification failed.\n", "host-key-changed"),
    ("Host key verification failed.\n", "host-key-changed"),
    ("No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict "
     "checking.\nHost key verification failed.\n", "host-key-unknown"),
    ("root@127.0.0.1: Permission denied (publickey).\n", "host-auth-failed"),
    ("ssh: connect to host 127.0.0.1 port 9: Connection refused\n", "host-unreachable"),
    ("ssh: Could not resolve hostname nowhere: Name or service not known\n",
     "host-unreachable"),
    ("", "host-unreachable"),
])
def test_ssh_failures_become_codes(stderr: str, code: str) -> None:
    error = ssh_error("box", parse_url("ssh://box/a"), stderr)
    assert error.code == code and error.fields["host"] == "box"


def test_a_script_runs_under_sh_whatever_the_login_shell() -> None:
    from synthetic_ls.remote.ssh import posix_script

    script = f"test -d {remote_command('/srv/a b')} || exit 3"
    assert shlex.split(posix_script(script)) == ["sh", "-c", script]
