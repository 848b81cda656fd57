"""The agent-session resource: an OpenCode session rooted in the construct's worktree.

Synthetic keeps only the session's id (``opencode_session_id``); the
transcript stays in OpenCode's own store. The session is made last, once the
worktree exists (OpenCode fails a prompt in a folder that does not exist),
with the construct's name as its title and the template's model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from state_format.records import PromptBundle
from synthetic_ls.errors import SyntheticError
from synthetic_ls.opencode.client import (
    SESSION_GONE,
    OpenCodeError,
    Providers,
    folder_load_timeout,
)
from synthetic_ls.opencode.server import running_server
from synthetic_ls.provision.consent_items import of_agent_folder
from synthetic_ls.provision.lifecycle import Finding, Made, PlanItem, Resource, Subject

if TYPE_CHECKING:
    from synthetic_ls.config import SyntheticConfig, Template
    from synthetic_ls.provision.work import Creation, Release, Survey, Work

LOGIN_HINT = "run `opencode auth login` to add credentials for it"


class ProviderNotUsableError(SyntheticError):
    """The template's provider (or model) is not one the OpenCode server can use."""

    code = "provider-not-usable"


class ModelNotFoundError(SyntheticError):
    """The template's provider is usable, but it has no model of that id (a typo)."""

    code = "model-not-found"


class SessionServerError(SyntheticError):
    """The session cannot be released because its server cannot be reached."""

    code = "session-server-unreachable"


@dataclass(frozen=True)
class AgentSpec:
    """Which provider, model and OpenCode agent a construct's session uses (None: the server's)."""

    provider_id: str | None = None
    model_id: str | None = None
    agent_id: str | None = None

    def label(self) -> str:
        """``provider/model`` as OpenCode writes it, or "the server's default model"."""
        if self.provider_id is None:
            return "the server's default model"
        return f"{self.provider_id}/{self.model_id or '(its default model)'}"

    def to_dict(self) -> dict[str, Any]:
        """``{"provider_id", "model_id", "agent_id"}``."""
        return {
            "provider_id": self.provider_id,
            "model_id": self.model_id,
            "agent_id": self.agent_id,
        }


def agent_spec(
    config: SyntheticConfig | None, template: Template | None, model: str | None = None
) -> AgentSpec:
    """The template's ``agent``, with ``opencode.defaultProvider/defaultModel`` filling gaps.

    ``model`` (a construct's own ``provider/model``, from ``new --model``) replaces the
    template's provider and model; the template's OpenCode agent stays.
    """
    agent = template.agent if template is not None else None
    if model is not None:
        provider_id, _, model_id = model.partition("/")
        return AgentSpec(provider_id, model_id or None, agent.agent_id if agent else None)
    defaults = config.opencode if config is not None else None
    provider = agent.provider_id if agent is not None else None
    model = agent.model_id if agent is not None else None
    if provider is None and defaults is not None:
        provider = defaults.default_provider
        model = model or defaults.default_model
    elif model is None and defaults is not None and defaults.default_provider == provider:
        model = defaults.default_model
    return AgentSpec(provider, model, agent.agent_id if agent is not None else None)


def spec_of(work: Work) -> AgentSpec:
    """The agent spec of the construct under ``work``: its own model, else its template's."""
    return agent_spec(work.config, work.template, work.construct.model)


def resolve_model(spec: AgentSpec, providers: Providers) -> AgentSpec:
    """``spec`` checked against what the server can use, with the provider's default model.

    Raises :class:`ProviderNotUsableError`, saying how to add credentials, or
    :class:`ModelNotFoundError`, listing the provider's models.
    """
    if spec.provider_id is None:
        return spec
    usable = ", ".join(sorted(providers.models)) or "none"
    models = providers.models.get(spec.provider_id)
    if models is None:
        raise ProviderNotUsableError(
            f"OpenCode cannot use provider {spec.provider_id!r} (usable now: {usable}); "
            f"{LOGIN_HINT}",
            fields={"provider": spec.provider_id, "usable": sorted(providers.models)},
        )
    model = spec.model_id or providers.defaults.get(spec.provider_id)
    if model is None or (models and model not in models):
        # Credentials are fine here: this is a model id to fix, not a login.
        raise ModelNotFoundError(
            f"provider {spec.provider_id!r} has no model {model!r} on this OpenCode server "
            f"(it has: {', '.join(models[:12]) or 'none'})",
            fields={"provider": spec.provider_id, "model": model},
        )
    return AgentSpec(spec.provider_id, model, spec.agent_id)


def _directory(work: Work) -> str:
    return work.construct.workspace_path or ""


@dataclass(frozen=True)
class SessionMade:
    """The session made for the construct, and the model it uses."""

    session_id: str
    spec: AgentSpec


class SessionResource(Resource[SessionMade]):
    """The construct's OpenCode session; its id is the record's ``opencode_session_id``.

    Undo and recovery delete the recorded session and any other session
    rooted in the construct's worktree folder (a crash can come after OpenCode
    made the session and before its id was written); that folder is new and
    the construct's alone, so nothing else lives there.
    """

    name = "session"
    title = "creating the agent session"
    with_worktree = True

    def wanted(self, work: Creation) -> bool:
        """Only with a worktree, when asked for or when the template has an ``agent``."""
        return work.wants_agent

    def plan(self, work: Creation) -> PlanItem:
        """The model, and which server (named or managed)."""
        from synthetic_ls.opencode.server import external_server

        spec = spec_of(work)
        named = external_server(work.config)
        server = named.url if named is not None else "the repository's managed opencode serve"
        if work.construct.isolation:
            server = f"its own opencode serve, in its {work.construct.isolation} sandbox"
        return PlanItem(
            self.name,
            f"create an OpenCode session in the worktree with {spec.label()} on {server}",
            {**spec.to_dict(), "server": server, "title": work.construct.name},
        )

    def preflight(self, work: Creation) -> None:
        """Reach (or start) the server and check that it can use the provider and model.

        Asked outside any repository folder (nothing of the repository is loaded
        before consent); a repository whose own OpenCode config may add the
        provider is checked again in the worktree, before the session. An
        isolated construct's server starts in its sandbox, which needs the
        worktree: its model is checked at the session step.
        """
        if work.construct.isolation:
            return
        with work.ctx.opencode.client() as client:
            providers = client.providers()
        try:
            resolve_model(spec_of(work), providers)
        except SyntheticError:
            if not _has_own_opencode_config(work):
                raise


    def warm(self, work: Creation) -> None:
        """Once the worktree exists, check the model as seen from it, in the background.

        OpenCode loads its providers per folder on first use (about 300 ms,
        measured with 1.18), which the session's first message would
        otherwise wait for; asked here, it happens beside the ports, bundle
        and services steps. The answer is checked too: a worktree's own
        OpenCode config may change what is usable.
        """
        directory = _directory(work)
        if not directory or not Path(directory).is_dir() or not _agent_allowed(work, directory):
            return  # the session step asks (or refuses) before OpenCode serves the folder
        server = work.opencode  # found in this thread: the creation is not shared
        spec = spec_of(work)

        def check() -> AgentSpec:
            with server.client() as client:
                return resolve_model(spec, client.providers(directory=directory))

        work.ahead.begin(self.name, check)

    def provision(self, work: Creation) -> Made[SessionMade]:
        """Create the session; its id goes into the record.

        OpenCode runs the plugins (and starts the MCP servers) of a folder when
        it first serves it: only with the person's consent to them.
        """
        work.ctx.require_consent(of_agent_folder(_directory(work)),
                                 doing=f"starting the agent of {work.construct.id}")
        ahead = work.ahead.take(self.name)
        # OpenCode loads the folder on its first request (over 5 s on a loaded
        # machine): say so while it does.
        loading = work.ctx.waiting("OpenCode to load the worktree", folder_load_timeout())
        with loading:
            if ahead is not None:
                spec = ahead.result()  # raises what the check in the worktree found
            else:
                with work.opencode.client() as client:
                    spec = resolve_model(
                        spec_of(work),
                        client.providers(directory=_directory(work)),
                    )
        with work.opencode.client() as client:
            session = client.create_session(
                _directory(work), title=work.construct.name, provider_id=spec.provider_id,
                model_id=spec.model_id, agent=spec.agent_id,
            )
            # The prompt bundle, if one was made, is the session's first message.
            for bundle in work.store.list(PromptBundle).records:
                if bundle.construct_id == work.construct.id:
                    client.add_context(session.id, bundle.content, directory=_directory(work))
        return Made(SessionMade(session.id, spec), {"opencode_session_id": session.id})

    def undo(self, work: Work) -> list[str]:
        """Delete the recorded session and any other session in the worktree folder."""
        if work.construct.isolation:
            # Its sessions live in its sandbox's home: they go with the sandbox.
            from synthetic_ls.sandbox.agent_server import remove

            return remove(work.store, work.construct.id)
        directory = _directory(work)
        recorded = work.construct.opencode_session_id
        if not directory and recorded is None:
            return []
        with work.ctx.opencode.client() as client:
            ids = {recorded} if recorded else set()
            # Asking for the folder's sessions makes OpenCode serve it: only if allowed.
            if directory and _agent_allowed(work, directory):
                ids |= {s.id for s in client.list_sessions(directory=directory)
                        if s.directory == directory}
            for sid in sorted(ids):
                _delete(client, sid)
        return [f"deleted OpenCode session {sid}" for sid in sorted(ids)]

    def preflight_release(self, work: Release) -> None:
        """Refuse before anything changes when the session must go but no server answers."""
        if (work.settings.keep_session or not work.construct.opencode_session_id
                or work.construct.isolation):
            return  # an isolated construct's sessions go with its sandbox: no server needed
        try:
            with work.ctx.opencode.client() as client:
                client.health()
        except OpenCodeError as err:
            raise SessionServerError(
                f"cannot delete the agent session of {work.construct.id}: {err}; start the "
                "server (`synthetic opencode start`), or pass --keep-session to leave it",
                fields={"construct": work.construct.id, "reason": err.code},
            ) from None

    def release(self, work: Release) -> list[str]:
        """Delete the session, or keep it when asked to (``--keep-session``)."""
        sid = work.construct.opencode_session_id
        if work.construct.isolation:
            from synthetic_ls.sandbox.agent_server import remove, stop

            notes = (stop(work.store, work.construct.id) if work.settings.keep_session
                     else remove(work.store, work.construct.id))
            if sid and not work.settings.keep_session:
                work.update(opencode_session_id=None)
            return notes
        if not sid:
            return []
        if work.settings.keep_session:
            note = f"kept OpenCode session {sid}"
        else:
            with work.ctx.opencode.client() as client:
                _delete(client, sid)
            note = f"deleted OpenCode session {sid}"
        # Without its worktree (``worktree rm``) the record keeps no session either.
        work.update(opencode_session_id=None)
        return [note]

    def check(self, survey: Survey) -> list[Finding]:
        """Sessions the server no longer has, each with an offer to make a new one.

        Only when a server is already running: the doctor never starts one.
        """
        findings = _orphan_sandboxes(survey)
        # An isolated construct's session is on its own server, not this one.
        with_session = [c for c in survey.constructs
                        if c.opencode_session_id and not c.isolation]
        server = running_server(survey.store, survey.config) if with_session else None
        if server is None:
            return findings
        with server.client() as client:
            for construct in with_session:
                sid = construct.opencode_session_id or ""
                try:
                    client.get_session(sid)
                    continue
                except OpenCodeError as err:
                    if err.code != SESSION_GONE:
                        return findings  # the server stopped answering: no verdict
                findings.append(Finding(
                    kind="session-missing",
                    subject=Subject("construct", construct.id),
                    message=f"the OpenCode session {sid} of {construct.id} no longer exists "
                    "on the server",
                    advice="`synthetic doctor --fix` gives it a new, empty session",
                    fix=_recreate(survey, construct.id),
                ))
        return findings


def _orphan_sandboxes(survey: Survey) -> list[Finding]:
    """Sandbox folders (``sandboxes/<id>``) of no construct: a server, its sessions, left."""
    from synthetic_ls.sandbox.plan import SANDBOXES

    folder = survey.store.local_dir / SANDBOXES
    if not folder.is_dir():
        return []
    known = {c.id for c in survey.constructs}
    findings = []
    for entry in sorted(folder.iterdir()):
        if entry.name in known or not entry.is_dir() or entry.name.startswith("."):
            continue
        if (survey.store.local_dir / "constructs" / f"{entry.name}.toml").exists():
            continue  # a record that cannot be read now is still its owner
        findings.append(Finding(
            kind="orphan-sandbox",
            subject=Subject("construct", entry.name),
            message=f"the sandbox folder {entry} belongs to no construct (its OpenCode "
            "server and sessions were left behind)",
            advice="`synthetic doctor --fix` stops its server and deletes the folder",
            fix=_remove_sandbox(survey, entry.name),
        ))
    return findings


def _remove_sandbox(survey: Survey, construct_id: str) -> Any:
    def fix() -> list[str]:
        from synthetic_ls.sandbox.agent_server import remove

        return remove(survey.store, construct_id)

    return fix


def _delete(client: Any, session_id: str) -> None:
    """Delete a session; one that is already gone is fine."""
    try:
        client.delete_session(session_id)
    except OpenCodeError as err:
        if err.code != SESSION_GONE:
            raise


def _recreate(survey: Survey, construct_id: str) -> Any:
    def fix() -> list[str]:
        from synthetic_ls.provision.work import Creation

        construct = survey.store.get_construct(construct_id)
        work = Creation(survey.ctx, construct, survey.ctx.template_of(construct.template_id))
        made = SessionResource().provision(work)
        work.update(**made.fields)
        return [f"gave {construct_id} the new OpenCode session {made.result.session_id}"]

    return fix


def _agent_allowed(work: Work, directory: str) -> bool:
    """Whether what OpenCode would load from ``directory`` was allowed; reads only."""
    from synthetic_ls.consent.gate import allowed

    return allowed(work.ctx.root, of_agent_folder(directory))


def _has_own_opencode_config(work: Creation) -> bool:
    """Whether the worktree will hold an OpenCode config of its own (which may add providers)."""
    from synthetic_ls.consent.sources import CONFIG_NAMES, CommitFiles
    from synthetic_ls.provision.consent_items import start_commit

    commit = start_commit(work)
    if commit is None:
        return False
    files = CommitFiles(work.git.repo, commit)
    return any(files.digest(name) is not None for name in CONFIG_NAMES)
