from torchmode.cli import main

raise SystemExit(main())
