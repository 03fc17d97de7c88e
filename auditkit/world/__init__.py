"""The built-in synthetic world: seeded shops, a simulated vendor, a trained recommender.

Used as the embedded default of an audit and as the planted-effect fixture of every test. The
simulated vendor plants each effect by a knob; the trained one is a real algorithm fit to
synthetic interaction logs, so verdicts can be checked on it too. Served over HTTP, it
misbehaves on demand: in its answers (`Faults`) and on the connection (`WireFaults`).
"""

from auditkit.world._generator import Shop, World, generate_world, trending_keys
from auditkit.world._hostile import WireFaults, running_hostile_server
from auditkit.world._interactions import InteractionLog, generate_interactions
from auditkit.world._recommender import TrainedVendor
from auditkit.world._server import Faults, running_server, serve_forever, vendor_app
from auditkit.world._simulated import SimulatedVendor, Steering

__all__ = [
    "Faults",
    "InteractionLog",
    "Shop",
    "SimulatedVendor",
    "Steering",
    "TrainedVendor",
    "WireFaults",
    "World",
    "generate_interactions",
    "generate_world",
    "running_hostile_server",
    "running_server",
    "serve_forever",
    "trending_keys",
    "vendor_app",
]
