"""Pure domain code, without handlers or AWS: signing, imaging, video, drawing."""
