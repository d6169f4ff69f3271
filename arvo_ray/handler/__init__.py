"""arvo_ray.handler"""
