LDLIBS_mtapasswd := -lcrypt
