"""Re-mask jobs (Art. 2-4): staff black out a camera's already-stored frames under its current privacy mask.

Two halves, so that the staff API never loads the imaging layer: `jobs` starts a job, reads it and reads its queue
messages (no image is touched); `slices` runs one slice of a job in the remask function, through OpenCV.
"""
