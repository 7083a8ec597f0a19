# JupyterHub configuration of the local classroom (tools/hub/classroom.py prepares STATE and starts the hub with it).
# Read by `jupyterhub -f tools/hub/jupyterhub_config.py` with XAI_HUB_STATE naming the prepared state folder.
# Local and offline: 127.0.0.1 only; the proxy is the Python port of configurable-http-proxy (PyPI), from the
# course's environment; users are real Unix users, each server under its own uid; shared-password log-in.
import json
import os
import sys
from pathlib import Path

from jupyterhub.auth import DummyAuthenticator
from jupyterhub.spawner import LocalProcessSpawner

sys.path.insert(0, str(Path(__file__).resolve().parent))
import classroom  # noqa: E402  (tools/hub/classroom.py)

c = get_config()  # noqa: F821
STATE = Path(os.environ["XAI_HUB_STATE"]).resolve()
settings = json.loads((STATE / "classroom.json").read_text())
BIN = Path(settings["python"]).parent


class CourseSpawner(LocalProcessSpawner):
    """LocalProcessSpawner (the server runs under the user's own uid) with HOME in the classroom's state folder
    and the classroom's environment (nbgrader's exchange config, the course package, the offline switches)."""

    def make_preexec_fn(self, name):
        return None   # tools/hub/run_as.sh (the start of cmd) switches to the user's uid, gid and groups

    async def start(self):
        self.cmd = [*classroom.run_as(STATE, self.user.name), str(BIN / "jupyterhub-singleuser")]
        return await super().start()

    def user_env(self, env):
        env = super().user_env(env)
        env.update(classroom.user_env(STATE, self.user.name))
        env.update(classroom._passthrough())
        return env


c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = settings["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings["port"] + 1
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings['port'] + 2}"
c.ConfigurableHTTPProxy.command = [str(BIN / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.should_start = True
PRIVATE = STATE / "hub"   # the hub's own files, root's only (0700): its database, cookie secret, pid
PRIVATE.mkdir(mode=0o700, exist_ok=True)
os.chmod(PRIVATE, 0o700)
c.JupyterHub.db_url = f"sqlite:///{PRIVATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(PRIVATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(PRIVATE / "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = str(PRIVATE / "jupyterhub-proxy.pid")
c.JupyterHub.cleanup_servers = True

c.JupyterHub.authenticator_class = DummyAuthenticator
c.DummyAuthenticator.password = settings["password"]
c.Authenticator.allowed_users = set(settings["learners"]) | {settings["teacher"]}
c.Authenticator.admin_users = {settings["teacher"]}

c.JupyterHub.spawner_class = CourseSpawner
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = str(STATE / "home" / "{username}")
c.Spawner.ip = "127.0.0.1"
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.Spawner.args = ["--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]

if settings.get("service_token"):   # the system test drives the class through the hub's REST API with this token
    c.JupyterHub.services = [{"name": "classroom", "api_token": settings["service_token"]}]
    c.JupyterHub.load_roles = [{"name": "classroom", "services": ["classroom"],
                                "scopes": ["admin:users", "admin:servers", "tokens", "list:users", "read:users"]}]
