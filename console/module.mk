LDLIBS_mtaconsole := -lncursesw
