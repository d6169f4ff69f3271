"""Settings for the whole suite."""

from hypothesis import HealthCheck, settings

# Shared CI machines are small and noisy: a slow example is not a failure.
settings.register_profile(
    "arvo", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("arvo")
