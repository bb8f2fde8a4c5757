from tevatron_ext.cli import main

main()
