"""A real vendor server on 127.0.0.1, started per test and stopped after."""

import contextlib

import pytest

from auditkit.world import Faults, SimulatedVendor, generate_world, running_server, vendor_app


@pytest.fixture(scope="session")
def world():
    return generate_world(seed=3, n_shops=3, items_per_shop=60, n_categories=5)


@pytest.fixture(scope="session")
def simulated(world):
    return SimulatedVendor.from_world(world, pooling=0.5, trend_weight=0.5)


@pytest.fixture
def serve(simulated):
    """``serve(**faults)`` -> base URL of the simulated vendor with those faults."""
    with contextlib.ExitStack() as stack:

        def start(*, api_key=None, tenants=None, **faults):
            app = vendor_app(simulated, faults=Faults(**faults), api_key=api_key, tenants=tenants)
            return stack.enter_context(running_server(app))

        yield start
