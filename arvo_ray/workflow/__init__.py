"""arvo_ray.workflow"""
