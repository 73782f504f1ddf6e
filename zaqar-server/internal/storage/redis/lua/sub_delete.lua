-- SubDelete: ARGV = id.
dels(ARGV[1])
gcsubs()
return 0
