from sim.interfaces.cli import main

raise SystemExit(main())
