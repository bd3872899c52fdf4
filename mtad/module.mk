LDLIBS_mtad := -lreadline -lssl -lcrypto -lcrypt
