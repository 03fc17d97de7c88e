"""The built-in synthetic world: seeded shops and a simulated vendor with planted effects.

Used as the embedded default of an audit and as the planted-effect fixture of every test.
"""

from auditkit.world._generator import Shop, World, generate_world, trending_keys
from auditkit.world._server import Faults, running_server, serve_forever, vendor_app
from auditkit.world._simulated import SimulatedVendor, Steering

__all__ = [
    "Faults",
    "Shop",
    "SimulatedVendor",
    "Steering",
    "World",
    "generate_world",
    "running_server",
    "serve_forever",
    "trending_keys",
    "vendor_app",
]
