"""Files in and out: what the commands read and write, with nothing of any one command in it.

The layer below the commands and above `terminal`: reading `.npy`/`.npz`
from elsewhere within a budget (`npy`, `arrays`, `sampling`), writing images
(`png`, `images`) all or nothing (`atomic`), and naming them (`planning`).
Nothing here imports a command.
"""
