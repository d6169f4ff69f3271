"""arvo_ray.machine"""
