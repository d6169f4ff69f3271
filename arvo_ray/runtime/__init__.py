"""arvo_ray.runtime"""
