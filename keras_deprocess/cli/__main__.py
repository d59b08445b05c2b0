import sys

from keras_deprocess.cli import main

sys.exit(main())
