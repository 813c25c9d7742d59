#ifndef HORAE_BUILD_INFO_H
#define HORAE_BUILD_INFO_H

/// The git commit the binary was built from (Package.swift, `gitCommit`): a full hash, with
/// `-dirty` when the checkout had uncommitted changes, or `unknown` outside a git checkout.
const char *horae_git_commit(void);

#endif
