"""arvo_ray.broker"""
