"""LabNetwork: one lab data path (bridge, home, edges) whose state lives in a directory.

Every step that changes the machine holds one machine-wide lock, so the CLI, the
pytest fixture and the lab cloud can share a lab. The state file (``state.json``,
0600: it holds WireGuard private keys) lets any process attach to a running lab.
The bridge's alias records who owns the slot (state dir and, for test runs, the
owner pid): a slot whose owner died, whose state file is gone or whose home has
no process left is a leftover, and the next ``up`` sweeps it.
"""
import contextlib
import fcntl
import json
import os
import re
import shutil
import time

from . import netns
from ._run import LabnetError, alive, run, write_private
from .addressing import FIRST_EDGE, LAST_EDGE, PREFIX, Plan, base_network, check_name, overlaps_host_route
from .edge import EdgeNode
from .home import HomeNetwork

STATE = "state.json"
LOCK = "/run/lock/autoextender-labnet.lock"
#: slots reclaimed from dead labs, kept for the lab that may come back: {slot: {"dir", "until"}}
RESERVED = "/run/lock/autoextender-labnet-reserved.json"
#: how long a dead lab's slot waits for its ``up`` (a killed lab comes back within seconds in the tests)
RESERVE_SECONDS = 900
SLOT_RE = re.compile(r"^%sl(\d+)-" % PREFIX)


@contextlib.contextmanager
def machine_lock():
    with open(LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _owners():
    """slot -> the owner record in its bridge's alias (or {} when the alias is unreadable)."""
    owners = {}
    for link in json.loads(run(["ip", "-j", "link", "show", "type", "bridge"]).strip() or "[]"):
        m = SLOT_RE.match(link.get("ifname", ""))
        if m:
            try:
                owners[int(m.group(1))] = json.loads(link.get("ifalias") or "{}")
            except ValueError:
                owners[int(m.group(1))] = {}
    return owners


def used_slots():
    names = netns.list_netns() + netns.list_links()
    return sorted(set(int(m.group(1)) for m in (SLOT_RE.match(n) for n in names) if m))


def stale_reason(slot, owner):
    """Why slot ``slot`` (owner record ``owner``) is a leftover, or None when it is in use."""
    plan = Plan(slot)
    if not owner:
        return "no owner record on its bridge"
    if owner.get("pid") and not alive(owner["pid"]):
        return "its owner (pid %s) is gone" % owner["pid"]
    if not os.path.exists(os.path.join(owner.get("dir", "/nonexistent"), STATE)):
        return "its state file %s is gone" % os.path.join(owner.get("dir", "?"), STATE)
    if not (netns.exists(plan.home_netns) and netns.pids(plan.home_netns)):
        return "its home namespace runs nothing"
    return None


def reclaim_stale():
    """Sweep every slot left by a crashed or forgotten run; return {slot: reason}."""
    with machine_lock():
        return _reclaim_stale()


def _reclaim_stale():
    owners = _owners()
    reclaimed = {}
    reserved = _reservations()
    for slot in used_slots():
        reason = stale_reason(slot, owners.get(slot))
        if reason:
            netns.sweep(Plan(slot).prefix)
            netns.drop_host_routes(Plan(slot).subnet)
            reclaimed[slot] = reason
            # Its state file still there: the lab may come back (up after a kill) and wants its addresses.
            owner_dir = (owners.get(slot) or {}).get("dir")
            if owner_dir and os.path.exists(os.path.join(owner_dir, STATE)):
                reserved[slot] = {"dir": owner_dir, "until": time.time() + RESERVE_SECONDS}
    _save_reservations(reserved)
    _drop_guard_if_unused()
    return reclaimed


def _reservations():
    """The live reservations: not expired, and the dead lab's state file still names that slot."""
    try:
        with open(RESERVED) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    live = {}
    for slot, entry in data.items():
        try:
            with open(os.path.join(entry["dir"], STATE)) as f:
                same_slot = json.load(f).get("slot") == int(slot)
        except (OSError, ValueError, KeyError, TypeError):
            same_slot = False
        if same_slot and entry.get("until", 0) > time.time():
            live[int(slot)] = entry
    return live


def _save_reservations(reserved):
    write_private(RESERVED, json.dumps(dict((str(k), v) for k, v in reserved.items()), sort_keys=True) + "\n")


def _take_slot(slot, state_dir):
    """``state_dir``'s lab takes ``slot``: any reservation of it ends, as does the lab's own elsewhere."""
    reserved = _reservations()
    kept = dict((k, v) for k, v in reserved.items() if k != slot and v["dir"] != state_dir)
    if kept != reserved:
        _save_reservations(kept)


def _drop_guard_if_unused():
    if not used_slots():
        netns.guard_range(base_network(), present=False)


def free_slot(prefer=None, avoid=(), owner_dir=None):
    """A slot no lab uses: ``prefer`` when it is free, else the lowest free one not in ``avoid`` and not
    reserved for another dead lab (slots reclaimed from a dead lab, which its own ``up`` may come back for
    with the same addresses), else any."""
    routes = netns.host_routes()
    used = set(used_slots())
    free = [slot for slot in range(1, len(list(base_network().subnets(new_prefix=24))))
            if slot not in used and not overlaps_host_route(Plan(slot).subnet, routes)]
    if not free:
        raise LabnetError("no free /24 left in %s for a lab network" % base_network())
    if prefer in free:
        return prefer
    taken = set(avoid) | set(slot for slot, entry in _reservations().items() if entry["dir"] != owner_dir)
    return next((slot for slot in free if slot not in taken), free[0])


class LabNetwork:
    """The lab data path kept in ``state_dir``. ``owner_pid``: the slot is a leftover once it dies."""

    def __init__(self, state_dir, slot=None, owner_pid=None):
        self.state_dir = os.path.abspath(state_dir)
        self.slot = slot
        self.owner_pid = owner_pid
        self.plan = None
        self.home = None
        self.edges = {}

    # -- state
    @property
    def state_file(self):
        return os.path.join(self.state_dir, STATE)

    def load(self):
        """Read the state file; True when there was one."""
        if not os.path.exists(self.state_file):
            return False
        with open(self.state_file) as f:
            data = json.load(f)
        self.plan = Plan(data["slot"], data["base"])
        self.owner_pid = data.get("owner_pid")
        home = data["home"]
        self.home = HomeNetwork(self.plan, self._dir("home"), home["private_key"], home["public_key"])
        self.edges = {}
        for name, edge in data["edges"].items():
            self.edges[name] = EdgeNode(self.plan, name, edge["public_ip"], self._dir("edges", name),
                                        edge["private_key"], edge["public_key"])
        return True

    def _save(self):
        data = {
            "slot": self.plan.slot, "base": str(self.plan.base), "owner_pid": self.owner_pid,
            "home": {"private_key": self.home.private_key, "public_key": self.home.public_key},
            "edges": dict((e.name, {"public_ip": e.public_ip, "private_key": e.private_key,
                                    "public_key": e.public_key}) for e in self.edges.values()),
        }
        write_private(self.state_file, json.dumps(data, indent=2, sort_keys=True) + "\n")

    def _dir(self, *parts):
        return os.path.join(self.state_dir, *parts)

    # -- lifecycle
    def up(self, timeout=30.0):
        """Create the bridge and home (or attach to this state dir's running lab); returns self."""
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        with machine_lock():
            if self.load() and self.home.running():
                return self
            # A lab that comes back (killed, then up again) keeps its slot, so its servers keep their addresses.
            previous = self.plan.slot if self.plan else None
            if self.plan:
                self._teardown()
            reclaimed = _reclaim_stale()
            if self.slot and self.slot in used_slots():
                raise LabnetError("slot %d is in use by another lab (%s)" % (self.slot, _owners().get(self.slot)))
            self.plan = Plan(self.slot or free_slot(prefer=previous, avoid=set(reclaimed) - {previous},
                                                    owner_dir=self.state_dir))
            _take_slot(self.plan.slot, self.state_dir)
            netns.sweep(self.plan.prefix)
            netns.guard_range(self.plan.base, present=True)
            netns.create_bridge(self.plan.bridge, "%s/%d" % (self.plan.host_ip(), self.plan.subnet.prefixlen))
            owner = {"dir": self.state_dir, "pid": self.owner_pid}
            run(["ip", "link", "set", "dev", self.plan.bridge, "alias", json.dumps(owner, sort_keys=True)])
            self.home = HomeNetwork(self.plan, self._dir("home"))
            self.edges = {}
            try:
                self.home.create(timeout)
                self._save()
            except BaseException:
                netns.sweep(self.plan.prefix)
                _drop_guard_if_unused()
                raise
        return self

    def attach(self):
        """Load a running lab from ``state_dir``; LabnetError when there is none."""
        if not self.load():
            raise LabnetError("no lab network in %s (run `hack/labnet.py up --state-dir %s`)"
                              % (self.state_dir, self.state_dir))
        return self

    def add_edge(self, name, public_ip=None, timeout=30.0, connect=True):
        """Create edge ``name`` (at ``public_ip``, or the next free address); returns the EdgeNode.

        Without ``connect`` only its namespace and address exist (a lab server before its config:
        ``connect_edge`` adds the tunnel, and the proxy, later)."""
        with machine_lock():
            self.attach()
            if name in self.edges:
                raise LabnetError("edge %s already exists at %s" % (name, self.edges[name].public_ip))
            taken = set(e.public_ip for e in self.edges.values())
            if public_ip is None:
                free = [self.plan.public_ip(i) for i in range(FIRST_EDGE, LAST_EDGE + 1)
                        if self.plan.public_ip(i) not in taken]
                if not free:
                    raise LabnetError("no free public IP left in %s" % self.plan.subnet)
                public_ip = free[0]
            elif public_ip in taken:
                raise LabnetError("public IP %s is already used by another edge" % public_ip)
            try:
                edge = EdgeNode(self.plan, check_name(name), public_ip, self._dir("edges", name))
            except ValueError as exc:
                raise LabnetError(str(exc))
            edge.create(self.home, timeout, connect)
            self.edges[name] = edge
            self._save()
        return edge

    def connect_edge(self, name, timeout=30.0, proxy=True):
        """Give edge ``name`` its tunnel to home and, with ``proxy``, its own Traefik (a no-op when it has them)."""
        with machine_lock():
            self.attach()
            edge = self.edge(name)
            if not edge.connected():
                try:
                    edge.connect(self.home, timeout, proxy)
                except BaseException:
                    del self.edges[name]  # connect() removed the namespace
                    self._save()
                    raise
            elif proxy:
                edge.start_proxy(self.home, timeout)
        return edge

    def edge(self, name):
        if name not in self.edges:
            raise LabnetError("no edge named %s (edges: %s)" % (name, ", ".join(sorted(self.edges)) or "none"))
        return self.edges[name]

    def remove_edge(self, name):
        with machine_lock():
            self.attach()
            edge = self.edge(name)
            edge.destroy(self.home)
            shutil.rmtree(edge.workdir, ignore_errors=True)
            del self.edges[name]
            self._save()

    def down(self, keep_slot=False):
        """Remove everything of this lab (processes, namespaces, links, keys). Safe to repeat.

        ``keep_slot``: a restart (``hack/lab.py up`` of a lab that died stops what is left first). The state
        file stays and the slot is reserved for this lab, so its ``up`` takes the same addresses back even when
        other labs start meanwhile (the lab's servers keep their addresses)."""
        with machine_lock():
            if self.load():
                self._teardown(keep_state=keep_slot)
                if keep_slot:
                    reserved = _reservations()
                    reserved[self.plan.slot] = {"dir": self.state_dir, "until": time.time() + RESERVE_SECONDS}
                    _save_reservations(reserved)

    def _teardown(self, keep_state=False):
        netns.sweep(self.plan.prefix)
        netns.drop_host_routes(self.plan.subnet)
        _drop_guard_if_unused()
        for path in ((() if keep_state else (self.state_file,)) + (self._dir("home"), self._dir("edges"))):
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.exists(path):
                os.unlink(path)
        self.edges = {}

    def leftovers(self):
        """Names of this lab's namespaces and links that still exist (empty after ``down``)."""
        prefix = self.plan.prefix
        return netns.list_netns(prefix) + netns.list_links(prefix)


def down_all():
    """Remove every ``ae-`` namespace, link and socket on this machine (all labs). Returns what went."""
    with machine_lock():
        removed = netns.sweep(PREFIX)
        removed += netns.drop_host_routes(base_network())
        netns.guard_range(base_network(), present=False)
        return removed
