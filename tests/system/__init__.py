"""A real systemd as PID 1 on a throwaway copy of /, with pyups installed by make install."""
