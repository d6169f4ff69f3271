"""arvo_ray.memory"""
