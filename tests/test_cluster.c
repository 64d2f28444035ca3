/* Chinese whispers on graphs with known structure. */
#include <stdlib.h>

#include "facesearch/cluster.h"
#include "harness.h"

TEST(cluster_two_cliques_with_a_bridge)
{
    /* Two 5-cliques joined by one weak edge: connected components would
     * merge them, whispers must not. */
    fs_edge e[64];
    size_t ne = 0;
    for (uint32_t base = 0; base <= 5; base += 5)
        for (uint32_t i = 0; i < 5; i++)
            for (uint32_t j = i + 1; j < 5; j++)
                e[ne++] = (fs_edge){base + i, base + j, 1.0f};
    e[ne++] = (fs_edge){4, 5, 0.3f};
    uint32_t label[11], rep[11];
    size_t k;
    fs_error err = {0};
    /* Node 10 is isolated: its own cluster. */
    CHECK_OK(fs_cluster_whispers(11, e, ne, NULL, label, &k, rep, &err), &err);
    CHECK_INT(k, 3);
    for (int i = 1; i < 5; i++) {
        CHECK_INT(label[i], label[0]);
        CHECK_INT(label[5 + i], label[5]);
    }
    CHECK(label[0] != label[5]);
    CHECK(label[10] != label[0] && label[10] != label[5]);
    CHECK_INT(rep[label[10]], 10);
    /* The representative of clique 0 is a member with full intra weight. */
    CHECK(rep[label[0]] < 5);
    /* Same seed, same answer. */
    uint32_t again[11];
    CHECK_OK(fs_cluster_whispers(11, e, ne, NULL, again, &k, NULL, &err), &err);
    CHECK(memcmp(label, again, sizeof label) == 0);
}

TEST(cluster_pairs_and_errors)
{
    /* Identity-database case: records enrolled twice form pairs. */
    fs_edge e[3] = {{0, 1, 0.9f}, {2, 3, 0.8f}, {5, 4, 0.7f}};
    uint32_t label[7];
    size_t k;
    fs_error err = {0};
    CHECK_OK(fs_cluster_whispers(7, e, 3, NULL, label, &k, NULL, &err), &err);
    CHECK_INT(k, 4);
    CHECK_INT(label[0], label[1]);
    CHECK_INT(label[2], label[3]);
    CHECK_INT(label[4], label[5]);
    fs_edge bad = {0, 9, 1};
    CHECK_INT(fs_cluster_whispers(3, &bad, 1, NULL, label, &k, NULL, &err), FS_EUSAGE);
}

TEST(cluster_cannot_link_faces_of_one_photo)
{
    /* Nodes 0 and 1 are two faces of one photo; both are close to 2 and 3
     * (photos of person A and, weaker, of person B).  Without the constraint
     * all four merge; with it, 0 and 1 must part. */
    fs_edge e[6] = {{0, 2, 0.9f}, {0, 3, 0.9f}, {2, 3, 0.9f},
                    {1, 2, 0.5f}, {1, 3, 0.5f}, {0, 1, 0.8f}};
    uint32_t label[4];
    size_t k;
    fs_error err = {0};
    CHECK_OK(fs_cluster_whispers(4, e, 6, NULL, label, &k, NULL, &err), &err);
    CHECK_INT(k, 1);
    uint64_t photo[4] = {7, 7, 8, 9};
    fs_cluster_opts o = {0, 1, photo};
    CHECK_OK(fs_cluster_whispers(4, e, 6, &o, label, &k, NULL, &err), &err);
    CHECK(label[0] != label[1]);
    CHECK_INT(label[0], label[2]);
    CHECK_INT(label[2], label[3]);
    CHECK_INT(k, 2);
}
