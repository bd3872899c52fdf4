LDLIBS_mtad := -lreadline
