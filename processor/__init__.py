"""crashproc's processor: turns a raw crash (annotations + dumps) into a processed crash."""
