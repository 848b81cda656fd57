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

from synthetic_ls.errors import ExitCode, SyntheticError
from synthetic_ls.opencode.client import SESSION_GONE, OpenCodeError, Providers
from synthetic_ls.provision.lifecycle import Finding, PlanItem, Resource, Subject

if TYPE_CHECKING:
    from synthetic_ls.config import SyntheticConfig, Template
    from synthetic_ls.opencode.server import ServerInfo
    from synthetic_ls.provision.job import Job, Survey

LOGIN_HINT = "run `opencode auth login` to add credentials for it"


class ProviderNotUsableError(SyntheticError):
    """The template's provider (or model) is not one the OpenCode server can use."""

    code = "provider-not-usable"
    exit_code = ExitCode.FAILED


class SessionServerError(SyntheticError):
    """The session cannot be released because its server cannot be reached."""

    code = "session-server-unreachable"
    exit_code = ExitCode.FAILED


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


def agent_spec(config: SyntheticConfig | None, template: Template | None) -> AgentSpec:
    """The template's ``agent``, with ``opencode.defaultProvider/defaultModel`` filling gaps."""
    agent = template.agent if template is not None else None
    defaults = config.opencode if config is not None else None
    provider = agent.provider_id if agent is not None else None
    model = agent.model_id if agent is not None else None
    if provider is None and defaults is not None:
        provider = defaults.default_provider
        model = model or defaults.default_model
    elif model is None and defaults is not None and defaults.default_provider == provider:
        model = defaults.default_model
    return AgentSpec(provider, model, agent.agent_id if agent is not None else None)


def resolve_model(spec: AgentSpec, providers: Providers) -> AgentSpec:
    """``spec`` checked against what the server can use, with the provider's default model.

    Raises :class:`ProviderNotUsableError`, saying how to add credentials.
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
        raise ProviderNotUsableError(
            f"provider {spec.provider_id!r} has no model {model!r} on this OpenCode server "
            f"(it has: {', '.join(models[:12]) or 'none'})",
            fields={"provider": spec.provider_id, "model": model},
        )
    return AgentSpec(spec.provider_id, model, spec.agent_id)


def wants_agent(job: Job) -> bool:
    """Whether the job's construct gets a session: asked for, or its template has an agent."""
    if not job.worktree:
        return False
    if job.agent is not None:
        return job.agent
    return job.template is not None and job.template.agent is not None


def _directory(job: Job) -> str:
    return job.construct.workspace_path or ""


class SessionResource(Resource):
    """The construct's OpenCode session; its id is the record's ``opencode_session_id``.

    Undo and recovery delete the recorded session and any other session
    rooted in the construct's worktree folder (a crash can come after OpenCode
    made the session and before its id was written); that folder is new and
    the construct's alone, so nothing else lives there.
    """

    name = "session"
    title = "creating the agent session"
    with_worktree = True

    def wanted(self, job: Job) -> bool:
        """Only with a worktree, when asked for or when the template has an ``agent``."""
        return wants_agent(job)

    def plan(self, job: Job) -> PlanItem:
        """The model, and which server (named or managed)."""
        from synthetic_ls.opencode.server import external_server

        spec = agent_spec(job.config, job.template)
        named = external_server(job.config)
        server = named.url if named is not None else "the repository's managed opencode serve"
        return PlanItem(
            self.name,
            f"create an OpenCode session in the worktree with {spec.label()} on {server}",
            {**spec.to_dict(), "server": server, "title": job.construct.name},
        )

    def preflight(self, job: Job) -> None:
        """Reach (or start) the server and check that it can use the provider and model."""
        server = job.opencode()
        with server.client() as client:
            resolved = resolve_model(agent_spec(job.config, job.template), client.providers())
        job.outputs["agent"] = resolved

    def warm(self, job: Job) -> None:
        """Once the worktree exists, check the model as seen from it, in the background.

        OpenCode loads its providers per folder on first use (about 300 ms,
        measured with 1.18), which the session's first message would
        otherwise wait for; asked here, it happens beside the ports, bundle
        and services steps. The answer is checked too: a worktree's own
        OpenCode config may change what is usable.
        """
        directory = _directory(job)
        if not directory or not Path(directory).is_dir():
            return
        server = job.opencode()  # found in this thread: the job is not shared
        spec = job.outputs.get("agent") or agent_spec(job.config, job.template)

        def check() -> AgentSpec:
            with server.client() as client:
                return resolve_model(spec, client.providers(directory=directory))

        job.begin_ahead(self.name, check)

    def provision(self, job: Job) -> dict[str, Any]:
        """Create the session; its id goes into the record."""
        spec = job.outputs.get("agent") or agent_spec(job.config, job.template)
        ahead = job.ahead.pop(self.name, None)
        if ahead is not None:
            spec = ahead.result()  # raises what the check in the worktree found
        with job.opencode().client() as client:
            session = client.create_session(
                _directory(job), title=job.construct.name, provider_id=spec.provider_id,
                model_id=spec.model_id, agent=spec.agent_id,
            )
            # The prompt bundle, if one was made, is the session's first message.
            from synthetic_ls.provision.prompt_bundle import bundles_of

            for bundle in bundles_of(job.store, job.construct.id):
                client.add_context(session.id, bundle.content, directory=_directory(job))
        job.outputs["session"] = session.id
        return {"opencode_session_id": session.id}

    def undo(self, job: Job) -> list[str]:
        """Delete the recorded session and any other session in the worktree folder."""
        directory = _directory(job)
        recorded = job.construct.opencode_session_id
        if not directory and recorded is None:
            return []
        with job.opencode().client() as client:
            ids = {recorded} if recorded else set()
            if directory:
                ids |= {s.id for s in client.list_sessions(directory=directory)
                        if s.directory == directory}
            for sid in sorted(ids):
                _delete(client, sid)
        return [f"deleted OpenCode session {sid}" for sid in sorted(ids)]

    def preflight_release(self, job: Job) -> None:
        """Refuse before anything changes when the session must go but no server answers."""
        if job.keep_session or not job.construct.opencode_session_id:
            return
        try:
            with job.opencode().client() as client:
                client.health()
        except OpenCodeError as err:
            raise SessionServerError(
                f"cannot delete the agent session of {job.construct.id}: {err}; start the "
                "server (`synthetic opencode start`), or pass --keep-session to leave it",
                fields={"construct": job.construct.id, "reason": err.code},
            ) from None

    def release(self, job: Job) -> list[str]:
        """Delete the session, or keep it when asked to (``--keep-session``)."""
        sid = job.construct.opencode_session_id
        if not sid:
            return []
        if job.keep_session:
            note = f"kept OpenCode session {sid}"
        else:
            with job.opencode().client() as client:
                _delete(client, sid)
            note = f"deleted OpenCode session {sid}"
        # Without its worktree (``worktree rm``) the record keeps no session either.
        job.update(opencode_session_id=None)
        return [note]

    def check(self, survey: Survey) -> list[Finding]:
        """Sessions the server no longer has, each with an offer to make a new one.

        Only when a server is already running: the doctor never starts one.
        """
        with_session = [c for c in survey.constructs if c.opencode_session_id]
        server = running_server(survey.store, survey.config) if with_session else None
        if server is None:
            return []
        findings: list[Finding] = []
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


def _delete(client: Any, session_id: str) -> None:
    """Delete a session; one that is already gone is fine."""
    try:
        client.delete_session(session_id)
    except OpenCodeError as err:
        if err.code != SESSION_GONE:
            raise


def running_server(store: Any, config: Any) -> ServerInfo | None:
    """The named server, or the managed one if it runs; never starts one."""
    from synthetic_ls.opencode.server import ServerInfo, external_server, server_status
    from synthetic_ls.runtime.opencode_record import read_password

    named = external_server(config)
    if named is not None:
        return named
    status = server_status(store, config, check_health=False)
    if status.state != "running" or status.url is None:
        return None
    return ServerInfo(status.url, read_password(store.root), True, status.pid, reused=True)


def _recreate(survey: Survey, construct_id: str) -> Any:
    def fix() -> list[str]:
        from synthetic_ls.provision.job import Job

        construct = survey.store.get_construct(construct_id)
        config = survey.config
        template = config.templates.get(construct.template_id) if config is not None else None
        job = Job(store=survey.store, construct=construct, config=config, template=template)
        made = SessionResource().provision(job)
        job.update(**made)
        return [f"gave {construct_id} the new OpenCode session {made['opencode_session_id']}"]

    return fix
