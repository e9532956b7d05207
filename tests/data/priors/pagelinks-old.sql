-- MySQL dump 10.19  Distrib 10.3.38-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: db1100    Database: enwiki
-- ------------------------------------------------------
-- Server version	10.4.26-MariaDB-log
-- Hand-written for wikisearch's tests: pagelinks.sql in the schema before MediaWiki 1.43.

DROP TABLE IF EXISTS `pagelinks`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8 */;
CREATE TABLE `pagelinks` (
  `pl_from` int(8) unsigned NOT NULL DEFAULT 0,
  `pl_namespace` int(11) NOT NULL DEFAULT 0,
  `pl_title` varbinary(255) NOT NULL DEFAULT '',
  `pl_from_namespace` int(11) NOT NULL DEFAULT 0,
  PRIMARY KEY (`pl_from`,`pl_namespace`,`pl_title`),
  KEY `pl_namespace` (`pl_namespace`,`pl_title`,`pl_from`),
  KEY `pl_backlinks_namespace` (`pl_from_namespace`,`pl_namespace`,`pl_title`,`pl_from`)
) ENGINE=InnoDB DEFAULT CHARSET=binary ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8;
/*!40101 SET character_set_client = @saved_cs_client */;

/*!40000 ALTER TABLE `pagelinks` DISABLE KEYS */;
INSERT INTO `pagelinks` VALUES (1,0,'France',0),(1,0,'Seine',0),(2,0,'Texas',0),(3,0,'Paris',0),(4,0,'Paris_(France)',0),(5,0,'Paris',0),(5,0,'Paris,_Texas',0),(6,0,'City_of_Light',0),(6,0,'Nowhere_in_particular',0),(6,0,'Paris_(France)',0),(6,0,'Tour_Eiffel',0),(7,0,'City_of_Light',0);
INSERT INTO `pagelinks` VALUES (8,0,'France',10),(8,0,'Paris',10),(9,0,'Paris,_Texas',0),(9,0,'Paris_(France)',0),(10,0,'Eiffel_Tower',0),(11,0,'Paris',0),(99,0,'Paris',0),(99,0,'Rock_\'n\'_roll',0),(5,10,'Paris',0);
/*!40000 ALTER TABLE `pagelinks` ENABLE KEYS */;

-- Dump completed on 2024-06-01  0:00:00
