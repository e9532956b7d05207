-- MariaDB dump 10.19  Distrib 10.5.23-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: db1100    Database: enwiki
-- ------------------------------------------------------
-- Server version	10.6.17-MariaDB-log
-- Hand-written for wikisearch's tests: the links of tests/data/priors_links.xml (page ids 1-12),
-- plus the rows MediaWiki keeps for redirect pages (3, 4, 10, 11), a template (8) and a page the
-- dump does not hold (99).

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8mb4 */;

--
-- Table structure for table `pagelinks`
--

DROP TABLE IF EXISTS `pagelinks`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8 */;
CREATE TABLE `pagelinks` (
  `pl_from` int(10) unsigned NOT NULL DEFAULT 0,
  `pl_from_namespace` int(11) NOT NULL DEFAULT 0,
  `pl_target_id` bigint(20) unsigned NOT NULL,
  PRIMARY KEY (`pl_from`,`pl_target_id`),
  KEY `pl_target_id` (`pl_target_id`,`pl_from`),
  KEY `pl_backlinks_namespace_target_id` (`pl_from_namespace`,`pl_target_id`,`pl_from`)
) ENGINE=InnoDB DEFAULT CHARSET=binary ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `pagelinks`
--

/*!40000 ALTER TABLE `pagelinks` DISABLE KEYS */;
INSERT INTO `pagelinks` VALUES (1,0,2),(1,0,3),(2,0,9),(3,0,1),(4,0,5),(5,0,1),(5,0,4),(6,0,5),(6,0,6),(6,0,7);
INSERT INTO `pagelinks` VALUES (6,0,8),(7,0,6),(8,10,1),(8,10,2), (9,0,4), (9,0,5),(10,0,10),(11,0,1),(99,0,1);
/*!40000 ALTER TABLE `pagelinks` ENABLE KEYS */;

/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;

-- Dump completed on 2024-09-01  0:00:00
