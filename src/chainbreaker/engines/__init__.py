"""Alternative execution engines for detection (the embedded one lives in chainbreaker.detect)."""
