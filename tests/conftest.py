"""Shared test settings: property tests draw the same examples on every run, so CI cannot fail by chance."""

from hypothesis import HealthCheck, settings

settings.register_profile("deterministic", derandomize=True, database=None, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.load_profile("deterministic")
